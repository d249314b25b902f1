package deploy

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The shards' run folders leave their pods through the collector: each
// shard's pod, once its run ended, PUTs its folder (a gzipped tar) to
// /shards/<i>; the collector keeps it under Dir/shard-<i>/ and serves
// everything as GET /runs.tar.gz, for `commbench merge` on the user's
// machine. Why not a shared volume: ReadWriteMany storage is not there on
// every cluster (kind, minikube, most managed clusters without an extra
// driver), and an object store needs credentials and a client; the
// collector needs neither, only a Service.

// MaxUpload bounds one shard's upload (its run folder, gzipped).
const MaxUpload = 1 << 30

// Collector receives the shards' run folders. The zero value is not
// usable: set Dir and Shards.
type Collector struct {
	Dir    string
	Shards int
	Logf   func(format string, args ...any) // nil: quiet

	mu  sync.Mutex
	got map[int]bool
}

// Status is GET /status: which shards are in.
type Status struct {
	Shards   int   `json:"shards"`
	Received []int `json:"received"`
	Complete bool  `json:"complete"`
}

// Handler serves the collector's paths: GET /healthz, PUT /shards/{i},
// GET /status, GET /runs.tar.gz.
func (c *Collector) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("PUT /shards/{i}", c.put)
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(c.Status())
	})
	mux.HandleFunc("GET /runs.tar.gz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/gzip")
		if err := Archive(w, c.Dir); err != nil {
			c.logf("archive %s: %v", c.Dir, err)
		}
	})
	return mux
}

// Status says which shards are in.
func (c *Collector) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Status{Shards: c.Shards, Received: []int{}}
	for i := range c.got {
		s.Received = append(s.Received, i)
	}
	slices.Sort(s.Received)
	s.Complete = len(s.Received) == c.Shards
	return s
}

func (c *Collector) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

func (c *Collector) put(w http.ResponseWriter, r *http.Request) {
	i, err := strconv.Atoi(r.PathValue("i"))
	if err != nil || i < 0 || i >= c.Shards {
		http.Error(w, fmt.Sprintf("shard %q: want 0 to %d", r.PathValue("i"), c.Shards-1), http.StatusBadRequest)
		return
	}
	dir := filepath.Join(c.Dir, "shard-"+strconv.Itoa(i))
	// A shard sends again when its first try was cut off: the last wins.
	if err := os.RemoveAll(dir); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if err := Extract(http.MaxBytesReader(w, r.Body, MaxUpload), dir); err != nil {
		http.Error(w, fmt.Sprintf("shard %d: %v", i, err), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	if c.got == nil {
		c.got = map[int]bool{}
	}
	c.got[i] = true
	n := len(c.got)
	c.mu.Unlock()
	c.logf("shard %d in (%d of %d)", i, n, c.Shards)
	if n == c.Shards {
		c.logf("all %d shards in: download GET /runs.tar.gz, then commbench merge", n)
	}
	w.WriteHeader(http.StatusNoContent)
}

// Archive writes dir's regular files and folders to w as a gzipped tar,
// with paths relative to dir. Symbolic links are left out (a run's
// "latest" link points outside the folder).
func Archive(w io.Writer, dir string) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." || !(d.IsDir() || d.Type().IsRegular()) {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	return errors.Join(err, tw.Close(), gz.Close())
}

// Extract unpacks a gzipped tar of Archive into dir: folders and regular
// files only, none outside dir.
func Extract(r io.Reader, dir string) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.FromSlash(strings.TrimSuffix(h.Name, "/"))
		if !filepath.IsLocal(name) {
			return fmt.Errorf("%q: outside the folder", h.Name)
		}
		path := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(path, 0o755)
		case tar.TypeReg:
			err = writeFile(path, tr)
		default:
			err = fmt.Errorf("%q: only folders and regular files", h.Name)
		}
		if err != nil {
			return err
		}
	}
}

func writeFile(path string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	return errors.Join(err, f.Close())
}

// Upload sends dir to the collector at base as shard index: tries times at
// most, every wait, while the collector cannot be reached or answers 5xx.
func Upload(ctx context.Context, base string, index int, dir string, tries int, wait time.Duration) error {
	var buf bytes.Buffer
	if err := Archive(&buf, dir); err != nil {
		return fmt.Errorf("archive %s: %w", dir, err)
	}
	url := strings.TrimSuffix(base, "/") + "/shards/" + strconv.Itoa(index)
	var last error
	for try := range max(tries, 1) {
		if try > 0 {
			select {
			case <-ctx.Done():
				return errors.Join(ctx.Err(), last)
			case <-time.After(wait):
			}
		}
		last = put(ctx, url, buf.Bytes())
		var perm permanent
		if last == nil || errors.As(last, &perm) {
			return last
		}
	}
	return fmt.Errorf("upload to %s: %d tries: %w", url, tries, last)
}

// permanent is an answer that another try would not change (4xx).
type permanent struct{ error }

func put(ctx context.Context, url string, body []byte) error {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return permanent{err}
	}
	req.Header.Set("Content-Type", "application/gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	switch {
	case resp.StatusCode < 300:
		return nil
	case resp.StatusCode < 500:
		return permanent{fmt.Errorf("%s: %s: %s", url, resp.Status, bytes.TrimSpace(msg))}
	}
	return fmt.Errorf("%s: %s: %s", url, resp.Status, bytes.TrimSpace(msg))
}

// WaitHealthy waits until GET <url>/healthz answers 200 for every url,
// polling every second, for at most timeout.
func WaitHealthy(ctx context.Context, urls []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pending := slices.Clone(urls)
	var last error
	for len(pending) > 0 {
		pending = slices.DeleteFunc(pending, func(u string) bool {
			last = healthy(ctx, u)
			return last == nil
		})
		if len(pending) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %v: %w", strings.Join(pending, ", "), timeout, last)
		case <-time.After(time.Second):
		}
	}
	return nil
}

func healthy(ctx context.Context, base string) error {
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s/healthz: %s", base, resp.Status)
	}
	return nil
}
