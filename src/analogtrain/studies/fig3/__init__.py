"""The War-and-Peace LSTM study of the paper's Fig. 3 (see :mod:`analogtrain.studies.fig3.study`)."""

from analogtrain.studies.fig3.study import *  # noqa: F401,F403
from analogtrain.studies.fig3.study import QUICK, lr_milestones, text_report, write_outputs  # noqa: F401
