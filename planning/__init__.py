"""Allocation planning for the plan's teacher actions: special-post teachers and targeted students."""

from .compare import compare_runs
from .graduates import TargetedStudentModel, allocate_targeted_students
from .inputs import Scenario
from .solve import SolveResult
from .teachers import SpecialPostModel, allocate_special_posts

__all__ = ["Scenario", "SolveResult", "SpecialPostModel", "TargetedStudentModel", "allocate_special_posts",
           "allocate_targeted_students", "compare_runs"]
