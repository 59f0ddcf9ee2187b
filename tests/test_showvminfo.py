"""The showvminfo comparison used as independent evidence must itself catch differences."""

from __future__ import annotations

from factories import fwd, nat, share, spec
from showvminfo import disagreements, os_type_descriptions

from hosted.model import Nic

OS = {"Debian_64": "Debian (64-bit)"}
SPEC = spec(
    "web", vm_name="w-web", os_type="Debian_64", memory_mb=384, cpus=2, firmware="bios",
    nics=(nat(fwd(22, None, "ssh"), fwd(80, 18080, "http")),
          Nic("internal", network="lab", adapter_type="virtio")),
    shared_folders=(share("src", "/p/src"),),
)
INFO = {
    "name": "w-web", "ostype": "Debian (64-bit)", "memory": "384", "cpus": "2", "firmware": "BIOS",
    "nic1": "nat", "nictype1": "82540EM", "Forwarding(0)": "http,tcp,127.0.0.1,18080,,80",
    "Forwarding(1)": "ssh,tcp,127.0.0.1,2201,,22", "nic2": "intnet", "intnet2": "lab", "nictype2": "virtio",
    "nic3": "none", "SharedFolderNameMachineMapping1": "src", "SharedFolderPathMachineMapping1": "/p/src",
}


def test_agreeing_machine_has_no_disagreements() -> None:
    assert disagreements(SPEC, INFO, OS) == []


def test_each_difference_is_reported() -> None:
    cases = {
        "memory": ("memory", "512"), "cpus": ("cpus", "1"), "firmware": ("firmware", "EFI"),
        "os_type": ("ostype", "Other Linux"), "nic2": ("nic2", "nat"), "intnet2": ("intnet2", "other"),
        "nictype2": ("nictype2", "82540EM"), "forward http": ("Forwarding(0)", "http,tcp,127.0.0.1,9999,,80"),
        "nic3": ("nic3", "nat"), "shared folder src": ("SharedFolderPathMachineMapping1", "/elsewhere"),
    }
    for label, (key, value) in cases.items():
        found = disagreements(SPEC, {**INFO, key: value}, OS)
        assert len(found) == 1 and found[0].startswith(label), (label, found)


def test_missing_forward_and_folder() -> None:
    info = {k: v for k, v in INFO.items() if not k.startswith(("Forwarding(1)", "SharedFolder"))}
    assert disagreements(SPEC, info, OS) == ["forward ssh: missing", "shared folder src: missing"]


def test_os_type_listing_parser() -> None:
    listing = ("ID:          Debian_64\nDescription: Debian (64-bit)\nFamily ID:   Linux\n\n"
               "ID: Other\nDescription: Other/Unknown\n")
    assert os_type_descriptions(listing) == {"Debian_64": "Debian (64-bit)", "Other": "Other/Unknown"}
    listing_72 = "ID / Description: Linux_64 -- Other Linux (64-bit)\nFamily:           Linux\n"
    assert os_type_descriptions(listing_72) == {"Linux_64": "Other Linux (64-bit)"}
