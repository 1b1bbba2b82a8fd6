// Package earlystop implements early-stopping rules, Katib's "medianstop"
// (Katib v0.19's pkg/earlystopping/v1beta1/medianstop/service.py; the
// median stopping rule of Golovin et al., "Google Vizier", KDD 2017).
//
// Once min_trials_required trials have succeeded, a running trial stops
// when, from its start_step-th report on, a loss it reports is worse than
// the median, over the succeeded trials, of the average of each one's
// first start_step reports.
package earlystop
