"""Studies: the paper's figures and others as functions that return data, their plots and reports.

* :mod:`~analogtrain.studies.single_parameter` — Figs. 1 and 2 and the other one-weight studies;
* :mod:`~analogtrain.studies.fig3` — the War-and-Peace LSTM study (a sweep of training runs);
* :mod:`~analogtrain.studies.pulse_response` — the pulse response of sampled devices
  (``analogtrain device show``);
* :mod:`~analogtrain.studies.report` — a study's directory and the Markdown report of claims.
"""
