package clustertest

import "github.com/keyplane/keyplane/internal/testsmtp"

// byMessageID counts mails per Message-ID and recipient: a notice mailed
// twice, by two replicas, shows up as a count above one.
func byMessageID(mails []testsmtp.Mail) map[string]int {
	out := map[string]int{}
	for _, m := range mails {
		for _, to := range m.To {
			out[m.Header.Get("Message-Id")+" "+to]++
		}
	}
	return out
}
