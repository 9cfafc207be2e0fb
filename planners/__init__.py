"""The planners' workspace kept in the database: data sets, scenarios, and model runs as background
jobs (`jobs.py`) run by `fupin worker` (`worker.py`). The models themselves are planning/'s; these
services store their inputs and register their run folders."""
