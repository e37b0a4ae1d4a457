"""The job queues: `planner worker --queues` takes any of these (default: all)."""

GENERATIONS_QUEUE = "generations"
EXPERIMENTS_QUEUE = "experiments"
SWEEP_QUEUE = "sweep"
QUEUES = (GENERATIONS_QUEUE, EXPERIMENTS_QUEUE, SWEEP_QUEUE)

RUN_GENERATION = "planner:run_generation"
RUN_EXPERIMENT_RUN = "planner:run_experiment_run"
RUN_CONTENDER_RUN = "planner:run_contender_run"
# configure_task(name=...) does not take the task's own queue: given with every defer.
TASK_QUEUES = {
    RUN_GENERATION: GENERATIONS_QUEUE,
    RUN_EXPERIMENT_RUN: EXPERIMENTS_QUEUE,
    RUN_CONTENDER_RUN: EXPERIMENTS_QUEUE,
}
