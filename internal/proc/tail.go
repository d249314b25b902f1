package proc

import (
	"io"
	"os"
	"strings"
)

// tailBytes is how much of a log's end Tail reads: a long run's log can
// be megabytes, its last lines are not.
const tailBytes = 256 << 10

// Tail returns the last n non-blank lines of the file at path, oldest
// first: what an error message quotes from a child's log. A line a
// terminal would have rewritten ("\r\033[K" progress) is what it showed
// last. A file that cannot be read gives nil.
func Tail(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil || n <= 0 {
		return nil
	}
	defer f.Close()
	var skipFirst bool
	if fi, err := f.Stat(); err == nil && fi.Size() > tailBytes {
		if _, err := f.Seek(-tailBytes, io.SeekEnd); err == nil {
			skipFirst = true // it starts within a line
		}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil
	}
	lines := strings.Split(string(data), "\n")
	if skipFirst {
		lines = lines[1:]
	}
	var out []string
	for i := len(lines) - 1; i >= 0 && len(out) < n; i-- {
		if l := clean(lines[i]); l != "" {
			out = append(out, l)
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// Head returns the first n non-blank lines of a command's output, as Tail
// cleans them: what an error message quotes from, say, a failed build.
func Head(output string, n int) []string {
	var out []string
	for l := range strings.SplitSeq(output, "\n") {
		if len(out) == n {
			break
		}
		if l = clean(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// clean is what a terminal would show of line: the text after its last
// carriage return, without erase-line codes or trailing space; "" for a
// blank line. Its indentation (a stack trace's) stays.
func clean(line string) string {
	line = strings.TrimRight(line, "\r")
	if i := strings.LastIndexByte(line, '\r'); i >= 0 {
		line = line[i+1:]
	}
	line = strings.TrimRight(strings.ReplaceAll(line, "\033[K", ""), " \t")
	if strings.TrimSpace(line) == "" {
		return ""
	}
	return line
}
