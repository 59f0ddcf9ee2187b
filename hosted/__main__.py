from hosted.cli.main import run

run()
