package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// The load balancer in front of the notification replicas is nginx, as
// Debian packages it (bench.sh's setup installs it), run by the harness
// as a child process on loopback:
//
//	nginx -p <run>/<key>-lb -c <run>/<key>-lb/nginx.conf -e <run>/<key>-lb/error.log -g 'daemon off;'
//
// in its own process group like every service (Proc), stopped with
// SIGTERM after the reaction service. One worker process: the machine has
// few cores and the services need them; the worker's CPU is sampled as
// "lb". The upstream keeps connections to the replicas open (keepalive),
// as a production proxy does, so the hop costs what proxying costs and
// not a TCP handshake per call.

// ErrNoNginx is returned, wrapped, when a run needs nginx and it cannot be
// found.
var ErrNoNginx = errors.New("nginx not found (apt-get install nginx-light, or ./bench.sh setup)")

// FindNginx returns the path of the nginx binary: on $PATH, or in
// /usr/sbin (not on a non-root user's $PATH on Debian).
func FindNginx() (string, error) {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", ErrNoNginx
}

// nginxConf is the configuration of a balancer on listen (127.0.0.1:port)
// in front of upstreams, with everything it writes under prefix.
func nginxConf(prefix, listen string, upstreams []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# written by commbench for one pattern run; loopback only
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    upstream notification {
`, prefix)
	for _, u := range upstreams {
		fmt.Fprintf(&b, "        server %s;\n", u)
	}
	fmt.Fprintf(&b, `        keepalive 256;
        keepalive_requests 1000000;
        keepalive_timeout 75s;
    }
    server {
        listen %s;
        location / {
            proxy_pass http://notification;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
`, listen)
	return b.String()
}

// startNginx starts nginx on a free loopback port in front of upstreams,
// its config, pid file and error log in dir/name, and waits until it
// passes GET /healthz through to a replica.
func startNginx(ctx context.Context, name, dir string, upstreams []string) (*Proc, error) {
	exe, err := FindNginx()
	if err != nil {
		return nil, err
	}
	for _, u := range upstreams {
		if !loopbackAddr(u) {
			return nil, fmt.Errorf("nginx upstream %s is not a loopback address", u)
		}
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	prefix, err := filepath.Abs(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(prefix, "tmp"), 0o755); err != nil {
		return nil, err
	}
	conf := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConf(prefix, addr, upstreams)), 0o644); err != nil {
		return nil, err
	}
	args := []string{"-p", prefix + "/", "-c", conf, "-e", filepath.Join(prefix, "error.log"), "-g", "daemon off;"}
	return startProc(ctx, name, addr, exe, args, dir)
}

func loopbackAddr(hostport string) bool {
	host, _, ok := strings.Cut(hostport, ":")
	return ok && (host == "127.0.0.1" || host == "localhost")
}

// nginxWorkers are the worker processes of the nginx whose master is pid:
// its children, from /proc.
func nginxWorkers(pid int) []int {
	if pid == 0 {
		return nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}
