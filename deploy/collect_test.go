package deploy_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/commbench/commbench/deploy"
)

// TestCollector: shards upload their folders, the status says which are
// in, and the archive holds each under shard-<i>/ without symbolic links;
// a shard out of range is refused at once, not retried.
func TestCollector(t *testing.T) {
	c := &deploy.Collector{Dir: t.TempDir(), Shards: 2}
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	ctx := context.Background()
	for i, file := range []string{"a.json", "b.json"} {
		dir := filepath.Join(t.TempDir(), "20261130-0700-x")
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, file), []byte(file), 0o644)
		os.Symlink(dir, filepath.Join(dir, "latest")) // left out
		if err := deploy.Upload(ctx, srv.URL, i, filepath.Dir(dir), 1, 0); err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
	}
	if st := c.Status(); !st.Complete || len(st.Received) != 2 {
		t.Errorf("status %+v, want both shards in", st)
	}
	if err := deploy.Upload(ctx, srv.URL, 2, t.TempDir(), 3, time.Millisecond); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("shard 2 of 2: %v, want refused at once (400)", err)
	}
	resp, err := http.Get(srv.URL + "/runs.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := t.TempDir()
	if err := deploy.Extract(resp.Body, out); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"shard-0/20261130-0700-x/a.json", "shard-1/20261130-0700-x/b.json"} {
		if b, err := os.ReadFile(filepath.Join(out, f)); err != nil || string(b) != filepath.Base(f) {
			t.Errorf("%s: %q, %v", f, b, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(out, "shard-0/20261130-0700-x/latest")); err == nil {
		t.Error("a symbolic link was archived")
	}
}

// TestExtractStaysInside: a path leaving the folder is refused.
func TestExtractStaysInside(t *testing.T) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "../escape", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	tw.Write([]byte("x"))
	tw.Close()
	gz.Close()
	dir := filepath.Join(t.TempDir(), "in")
	if err := deploy.Extract(&buf, dir); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Errorf("got %v, want the path refused", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escape")); err == nil {
		t.Error("the file was written outside")
	}
}
