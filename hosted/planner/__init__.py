"""Pure planning: from the profile and the facts read up front to every step a
command will take.  No I/O: ``hosted.facts`` reads, ``hosted.run`` acts.

``plan`` is what ``up`` does (``hosted plan`` shows it); the other planners
are the other commands.  Every planner returns a ``Plan``.
"""

from hosted.planner.guest import UpOptions
from hosted.planner.model import MachinePlan, Plan
from hosted.planner.power import destroy_steps, plan_destroy, plan_halt, plan_resume, plan_suspend, select
from hosted.planner.provision import plan_provision
from hosted.planner.snapshots import plan_delete, plan_pop, plan_push, plan_reset, plan_restore, plan_save
from hosted.planner.up import plan, plan_reload

__all__ = [
    "MachinePlan", "Plan", "UpOptions", "destroy_steps", "plan", "plan_delete", "plan_destroy", "plan_halt",
    "plan_pop", "plan_provision", "plan_push", "plan_reload", "plan_reset", "plan_restore", "plan_resume",
    "plan_save", "plan_suspend", "select",
]
