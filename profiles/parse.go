package profiles

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/commbench/commbench/pattern"
)

// Error is one problem with a profile: where it is and what to do.
//
//	profiles/bad.yaml:7: stages[1].rate: must be >= 0 (requests per second), got -5
type Error struct {
	File  string // the file as given to Load or Parse; "" for Validate
	Line  int    // 1-based; 0 when unknown
	Field string // the path of the field, like stages[1].rate; "" for the whole file
	Msg   string // what is wrong and what to do
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrNotFound is returned, wrapped, by Lookup when no profile has the name.
var ErrNotFound = errors.New("profile not found")

// Load reads, defaults and validates the profile at path.
func Load(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	return Parse(path, data)
}

// Lookup loads a profile by name ("surge", looked for as dir/surge.yaml)
// or by path ("profiles/surge.yaml"). When there is none, the error lists
// the profiles in dir.
func Lookup(dir, nameOrPath string) (*Profile, error) {
	path, err := Resolve(dir, nameOrPath)
	if err != nil {
		return nil, err
	}
	return Load(path)
}

// Resolve finds the file of a profile named as Lookup takes it.
func Resolve(dir, nameOrPath string) (string, error) {
	var tries []string
	hasDir := strings.ContainsRune(nameOrPath, filepath.Separator) || strings.ContainsRune(nameOrPath, '/')
	switch ext := filepath.Ext(nameOrPath); {
	case hasDir:
		tries = []string{nameOrPath}
	case ext == ".yaml" || ext == ".yml":
		tries = []string{nameOrPath, filepath.Join(dir, nameOrPath)}
	default:
		tries = []string{filepath.Join(dir, nameOrPath+".yaml"), filepath.Join(dir, nameOrPath+".yml")}
	}
	for _, path := range tries {
		if _, err := os.Stat(path); err == nil {
			return path, nil
		}
	}
	names, err := Available(dir)
	if err != nil || len(names) == 0 {
		return "", fmt.Errorf("%w: %q: no such file, and no profiles in %s", ErrNotFound, nameOrPath, dir)
	}
	return "", fmt.Errorf("%w: %q; available in %s: %s", ErrNotFound, nameOrPath, dir, strings.Join(names, ", "))
}

// Available returns the names of the profiles in dir, sorted.
func Available(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("profiles: %w", err)
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if ext := filepath.Ext(name); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			names = append(names, strings.TrimSuffix(name, ext))
		}
	}
	sort.Strings(names)
	return names, nil
}

// Parse reads a profile from data, fills in the defaults and validates it.
// file names the data in errors and gives the default Name. The error, if
// any, joins one *Error per problem, in the order of the file's lines.
func Parse(file string, data []byte) (*Profile, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(file, err)
	}
	if len(doc.Content) == 0 {
		return nil, &Error{File: file, Line: 1, Msg: "empty profile; a profile needs at least stages, e.g. stages: [{for: 30s, rate: 100}]"}
	}
	root := doc.Content[0]

	// Check the shape first, so that an unknown field or a bad value is
	// reported with its path and line rather than by yaml's message.
	var errs errorList
	errs.check(root, reflect.TypeFor[Profile](), nil, 0)
	if err := errs.err(file, root); err != nil {
		return nil, err
	}

	p := defaults()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, yamlError(file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, &Error{File: file, Line: extra.Line, Msg: "a profile file holds one YAML document; remove the '---' and what follows or split the file"}
	}

	fill(&p, file, root)
	errs = errs[:0]
	errs.validate(&p, root)
	if err := errs.err(file, root); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate checks a profile built in Go (defaults already filled in). Its
// errors name fields but no file or line.
func (p *Profile) Validate() error {
	var errs errorList
	errs.validate(p, nil)
	return errs.err("", nil)
}

// fill sets the defaults that depend on other fields or on whether a field
// was written at all.
func fill(p *Profile, file string, root *yaml.Node) {
	if p.Name == "" && !has(root, "name") {
		base := filepath.Base(file)
		p.Name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	if !has(root, "patterns") {
		p.Patterns = pattern.All()
	}
	var highest float64
	for i := range p.Stages {
		st := &p.Stages[i]
		if !has(root, "stages", i, "to") {
			st.To = st.Rate
		}
		highest = max(highest, st.Rate, st.To)
	}
	if !has(root, "warmup", "rate") {
		p.Warmup.Rate = min(p.Warmup.Rate, highest)
	}
	if !has(root, "services", "notification", "balancer") {
		p.Services.Notification.Balancer = BalancerNone
		if p.Services.Notification.Replicas > 1 {
			p.Services.Notification.Balancer = BalancerNginx
		}
	}
	for i := range p.Faults {
		f := &p.Faults[i]
		if f.Kind == KindSlowdown && !has(root, "faults", i, "factor") {
			f.Factor = DefaultFactor
		}
		if f.Kind == KindLatency && !has(root, "faults", i, "delay") {
			f.Delay = DefaultDelay
		}
		if f.Target == TargetNetwork && !has(root, "faults", i, "link") {
			f.Link = DefaultLink
		}
	}
}

// A path is a field's place in the profile: keys (string) and list
// indexes (int).
type path []any

func (p path) String() string {
	var b strings.Builder
	for _, e := range p {
		switch e := e.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", e)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, e)
		}
	}
	return b.String()
}

func (p path) add(e ...any) path { return append(slices.Clip(p), e...) }

// problem is an error found at a path, before its line is known; line is
// set when the problem was found on a node.
type problem struct {
	at   path
	line int
	msg  string
}

type errorList []problem

func (l *errorList) addf(at path, format string, args ...any) {
	*l = append(*l, problem{at: at, msg: fmt.Sprintf(format, args...)})
}

func (l *errorList) nodef(n *yaml.Node, at path, format string, args ...any) {
	*l = append(*l, problem{at: at, line: n.Line, msg: fmt.Sprintf(format, args...)})
}

// err turns the problems into *Errors with lines from root, sorted by line,
// joined; nil if there are none.
func (l errorList) err(file string, root *yaml.Node) error {
	if len(l) == 0 {
		return nil
	}
	list := make([]*Error, len(l))
	for i, pr := range l {
		line := pr.line
		if line == 0 && root != nil {
			line = locate(root, pr.at)
		}
		list[i] = &Error{File: file, Line: line, Field: pr.at.String(), Msg: pr.msg}
	}
	slices.SortStableFunc(list, func(a, b *Error) int { return a.Line - b.Line })
	if len(list) == 1 {
		return list[0]
	}
	errs := make([]error, len(list))
	for i, e := range list {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// lookup returns the node at p under n, or nil.
func lookup(n *yaml.Node, p path) *yaml.Node {
	for _, e := range p {
		n = resolve(n)
		if n == nil {
			return nil
		}
		switch e := e.(type) {
		case int:
			if n.Kind != yaml.SequenceNode || e >= len(n.Content) {
				return nil
			}
			n = n.Content[e]
		case string:
			n = value(n, e)
		}
	}
	return n
}

// locate returns the line of the node at p, or of its deepest ancestor
// there is when the field was not written.
func locate(root *yaml.Node, p path) int {
	for i := len(p); i >= 0; i-- {
		if n := lookup(root, p[:i]); n != nil {
			return n.Line
		}
	}
	return root.Line
}

// has reports whether the field at p was written in the file.
func has(root *yaml.Node, p ...any) bool { return lookup(root, p) != nil }

// value returns the value of key in mapping n, following merge keys; nil
// if there is none.
func value(n *yaml.Node, key string) *yaml.Node { return valueDepth(n, key, 0) }

func valueDepth(n *yaml.Node, key string, depth int) *yaml.Node {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode || depth > maxDepth {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Tag == "!!merge" {
			for _, m := range merged(n.Content[i+1]) {
				if v := valueDepth(m, key, depth+1); v != nil {
					return v
				}
			}
		}
	}
	return nil
}

func merged(n *yaml.Node) []*yaml.Node {
	n = resolve(n)
	if n.Kind == yaml.SequenceNode {
		return n.Content
	}
	return []*yaml.Node{n}
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	default:
		return "value"
	}
}

// maxDepth bounds the walk of a profile's tree, which follows aliases: a
// profile is a few levels deep, and an anchor that contains itself is not.
const maxDepth = 64

var (
	durationType  = reflect.TypeFor[Duration]()
	unmarshalType = reflect.TypeFor[yaml.Unmarshaler]()
)

// check walks n against the Go type t, reporting unknown or repeated
// fields and values of the wrong kind, each with its path and line.
func (l *errorList) check(n *yaml.Node, t reflect.Type, at path, depth int) {
	n = resolve(n)
	if n == nil || isNull(n) {
		return // an empty value leaves the default
	}
	if depth > maxDepth {
		l.nodef(n, at, "nested too deep; does an anchor contain itself?")
		return
	}
	switch {
	case t == durationType:
		if _, err := parseDuration(n); err != nil {
			l.nodef(n, at, "%v", err)
		}
		return
	case reflect.PointerTo(t).Implements(unmarshalType):
		return // decoded by its own code, which reports its errors
	}
	switch t.Kind() {
	case reflect.Pointer:
		l.check(n, t.Elem(), at, depth+1)
	case reflect.Struct:
		l.checkStruct(n, t, at, depth)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			l.nodef(n, at, "must be a list like [a, b] or lines starting with '- ', not a %s", kindName(n))
			return
		}
		for i, e := range n.Content {
			l.check(e, t.Elem(), at.add(i), depth+1)
		}
	default:
		if n.Kind != yaml.ScalarNode {
			l.nodef(n, at, "must be a single %s, not a %s", scalarName(t), kindName(n))
			return
		}
		// yaml.v3 would truncate 2.5 into an int field; a whole number must
		// be written as one.
		isInt := t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64
		if err := n.Decode(reflect.New(t).Interface()); err != nil || isInt && n.ShortTag() != "!!int" {
			l.nodef(n, at, "must be %s, got %q", scalarName(t), n.Value)
		}
	}
}

func (l *errorList) checkStruct(n *yaml.Node, t reflect.Type, at path, depth int) {
	if n.Kind != yaml.MappingNode {
		l.nodef(n, at, "must be a mapping like {%s: ...}, not a %s", strings.Join(fieldNames(t), ": ..., "), kindName(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			for _, m := range merged(v) {
				l.check(m, t, at, depth+1)
			}
			continue
		}
		if line, ok := seen[k.Value]; ok {
			l.nodef(k, at.add(k.Value), "written twice, first at line %d; keep one", line)
			continue
		}
		seen[k.Value] = k.Line
		f, ok := field(t, k.Value)
		if !ok {
			names := fieldNames(t)
			msg := fmt.Sprintf("unknown field; the fields here are %s", strings.Join(names, ", "))
			if s := suggest(k.Value, names); s != "" {
				msg = fmt.Sprintf("unknown field; did you mean %s? The fields here are %s", s, strings.Join(names, ", "))
			}
			l.nodef(k, at.add(k.Value), "%s", msg)
			continue
		}
		l.check(v, f.Type, at.add(k.Value), depth+1)
	}
}

func field(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if f := t.Field(i); tagName(f) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func fieldNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if n := tagName(t.Field(i)); n != "" && n != "-" {
			names = append(names, n)
		}
	}
	return names
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

func scalarName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Bool:
		return "true or false"
	default:
		return "text"
	}
}

// suggest returns the name closest to s if it is close enough to be a typo.
func suggest(s string, names []string) string {
	best, bestDist := "", 3
	for _, n := range names {
		if d := distance(s, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlError turns a yaml.v3 error into *Errors with the file and line.
func yamlError(file string, err error) error {
	var lines []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		lines = te.Errors
	} else {
		lines = []string{err.Error()}
	}
	errs := make([]error, 0, len(lines))
	for _, s := range lines {
		e := &Error{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(s, "yaml: ")}
		if m := yamlLine.FindStringSubmatch(s); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Msg = "invalid YAML: " + m[2]
		}
		errs = append(errs, e)
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
