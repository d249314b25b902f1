package profiles

import (
	"slices"
	"strings"
	"testing"
)

// TestScaleKnobs checks the knobs of scale-out (replicas, balancer), of
// fan-out (groups) and of variants.
func TestScaleKnobs(t *testing.T) {
	const stages = "stages: [{for: 5s, rate: 10}]\n"
	for _, tc := range []struct {
		name string
		have string // the profile after the stages, parsed as bad.yaml
		want string // a substring of the error; "" for none
	}{
		{
			// The defaults: one replica, no balancer, one group.
			name: "defaults",
			have: "",
		},
		{
			// Two replicas get nginx without asking.
			name: "replicas default to nginx",
			have: "services: {notification: {replicas: 2}}\n",
		},
		{
			// One replica behind nginx: the LB hop measured alone.
			name: "one replica behind nginx",
			have: "services: {notification: {replicas: 1, balancer: nginx}}\n",
		},
		{
			// No replica at all.
			name: "zero replicas",
			have: "services: {notification: {replicas: 0}}\n",
			want: "bad.yaml:3: services.notification.replicas: must be 1 to 64 notification processes, got 0",
		},
		{
			// Too many replicas for one machine.
			name: "too many replicas",
			have: "services: {notification: {replicas: 65}}\n",
			want: "services.notification.replicas: must be 1 to 64",
		},
		{
			// Several replicas and nothing to spread the calls.
			name: "replicas without a balancer",
			have: "services: {notification: {replicas: 2, balancer: none}}\n",
			want: "services.notification.balancer: 2 replicas need a load balancer in front of them; use nginx",
		},
		{
			// A balancer this harness does not run.
			name: "unknown balancer",
			have: "services: {notification: {balancer: haproxy}}\n",
			want: `services.notification.balancer: unknown balancer "haproxy"; use none or nginx`,
		},
		{
			// Fan-out to three groups.
			name: "three groups",
			have: "services: {kafka: {groups: [notification, analytics, search]}}\n",
		},
		{
			// No group: nobody would read the topic.
			name: "no group",
			have: "services: {kafka: {groups: []}}\n",
			want: "services.kafka.groups: needs at least one consumer group",
		},
		{
			// The same group twice would share its messages, not fan out.
			name: "group twice",
			have: "services: {kafka: {groups: [notification, search, search]}}\n",
			want: `services.kafka.groups[2]: "search" is listed twice`,
		},
		{
			// A group name that cannot name a process.
			name: "bad group name",
			have: "services: {kafka: {groups: [notification, Search]}}\n",
			want: `services.kafka.groups[1]: must be lower-case letters, digits and dashes`,
		},
		{
			// Variants of replicas; r1 with no balancer, r2 gets nginx.
			name: "replica variants",
			have: "variants: [{name: direct, replicas: 1}, {name: r2, replicas: 2}]\n",
		},
		{
			// A variant with no name cannot be keyed.
			name: "variant without name",
			have: "variants: [{replicas: 2}]\n",
			want: "bad.yaml:3: variants[0].name: missing",
		},
		{
			// Two variants of one name would overwrite each other's results.
			name: "variant twice",
			have: "variants: [{name: r2, replicas: 2}, {name: r2, replicas: 4}]\n",
			want: `variants[1].name: "r2" is used twice`,
		},
		{
			// A variant name that cannot key results.
			name: "bad variant name",
			have: "variants: [{name: R2, replicas: 2}]\n",
			want: "variants[0].name: must be lower-case letters",
		},
		{
			// A negative replica count in a variant.
			name: "variant negative replicas",
			have: "variants: [{name: r, replicas: -1}]\n",
			want: "variants[0].replicas: must be 1 to 64",
		},
		{
			// Several replicas and no balancer, through a variant.
			name: "variant replicas without a balancer",
			have: "variants: [{name: r2, replicas: 2, balancer: none}]\n",
			want: "variants[0].balancer: 2 replicas need a load balancer",
		},
		{
			// An unknown balancer in a variant.
			name: "variant unknown balancer",
			have: "variants: [{name: r, balancer: envoy}]\n",
			want: `variants[0].balancer: unknown balancer "envoy"`,
		},
		{
			// A group listed twice in a variant.
			name: "variant group twice",
			have: "variants: [{name: m2, groups: [notification, notification]}]\n",
			want: `variants[0].groups[1]: "notification" is listed twice`,
		},
		{
			// A variant of some patterns only.
			name: "variant patterns",
			have: "variants: [{name: direct, patterns: [sync]}]\n",
		},
		{
			// A variant of a pattern the profile does not run.
			name: "variant unknown pattern",
			have: "variants: [{name: h, patterns: [hybrid]}]\n",
			want: `variants[0].patterns[0]: "hybrid" is not one of the profile's patterns (sync or async)`,
		},
		{
			// A typo in a variant's field.
			name: "variant unknown field",
			have: "variants: [{name: r2, replica: 2}]\n",
			want: "variants[0].replica: unknown field; did you mean replicas?",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte("patterns: [sync, async]\n"+stages+tc.have))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("got %v, want no error", err)
			case tc.want != "" && err == nil:
				t.Fatalf("got no error, want %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("got %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestApplyVariant(t *testing.T) {
	p, err := Parse("v.yaml", []byte("stages: [{for: 5s, rate: 10}]\nservices: {notification: {consumers: 2}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		have       Variant
		want       Notification // replicas, balancer
		wantGroups []string
	}{
		// Nothing changed.
		{Variant{Name: "same"}, Notification{Replicas: 1, Balancer: BalancerNone}, []string{"notification"}},
		// Two replicas bring nginx.
		{Variant{Name: "r2", Replicas: 2}, Notification{Replicas: 2, Balancer: BalancerNginx}, []string{"notification"}},
		// One replica behind nginx, asked for.
		{Variant{Name: "lb", Balancer: BalancerNginx}, Notification{Replicas: 1, Balancer: BalancerNginx}, []string{"notification"}},
		// Fan-out to two groups.
		{Variant{Name: "m2", Groups: []string{"notification", "analytics"}}, Notification{Replicas: 1, Balancer: BalancerNone}, []string{"notification", "analytics"}},
	} {
		q := p.Apply(tc.have)
		n := q.Services.Notification
		if n.Replicas != tc.want.Replicas || n.LB() != tc.want.Balancer || n.Consumers != 2 || !slices.Equal(q.Services.Kafka.Groups, tc.wantGroups) {
			t.Errorf("%s: got replicas %d balancer %s consumers %d groups %v, want %d %s 2 %v", tc.have.Name, n.Replicas, n.LB(), n.Consumers, q.Services.Kafka.Groups, tc.want.Replicas, tc.want.Balancer, tc.wantGroups)
		}
	}
	if p.Services.Notification.Replicas != 1 {
		t.Errorf("Apply changed the profile: replicas %d", p.Services.Notification.Replicas)
	}
}
