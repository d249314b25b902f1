package profiles

import "strconv"

// NotificationFlags are the notification service's flags for the
// profile's knobs (consumers, concurrency, retries, backoff, the provider):
// the one mapping the harness and the Kubernetes renderer both pass to
// `commbench serve notification`. --retries counts attempts, the profile's
// retries come after the first one.
func (s Services) NotificationFlags() []string {
	return []string{
		"--consumers", strconv.Itoa(s.Notification.Consumers),
		"--concurrency", strconv.Itoa(s.Notification.Concurrency),
		"--retries", strconv.Itoa(s.Notification.Retries + 1),
		"--retry-backoff", s.Notification.RetryBackoff.String(),
		"--retry-max-backoff", s.Notification.RetryMaxBackoff.String(),
		"--provider-p50", s.Provider.Latency.P50.String(),
		"--provider-p99", s.Provider.Latency.P99.String(),
		"--provider-capacity", strconv.Itoa(s.Provider.Capacity),
		"--provider-error-rate", strconv.FormatFloat(s.Provider.ErrorRate, 'g', -1, 64),
	}
}
