"""The tasks: a plain dict from a task's name to the :class:`~hierarchy.tasks.spec.TaskSpec` that declares it,
each in its own module. Add a task by writing its module and adding its spec here (or, for an experiment, by
putting a spec into :data:`TASKS` at run time)."""
from hierarchy.tasks import chunks, coref, dependency, entailment, mentions, pos, predicates, relatedness, srl
from hierarchy.tasks.spec import Context, TaskSpec, Writers

TASKS: dict[str, TaskSpec] = {spec.name: spec for spec in (
    pos.SPEC, chunks.SPEC, mentions.SPEC, dependency.SPEC, predicates.SPEC, srl.SPEC, relatedness.SPEC, entailment.SPEC,
    coref.SPEC,
)}


def get_task(name: str) -> TaskSpec:
    """The spec of task ``name``; a KeyError names the known tasks."""
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task '{name}' (expected one of {', '.join(TASKS)})") from None


__all__ = ["TASKS", "Context", "TaskSpec", "Writers", "get_task"]
