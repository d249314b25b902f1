package deploy

import (
	"fmt"
	"strconv"
	"strings"
)

// Expand replaces $(VAR) in s with env's value, as the kubelet does in a
// container's arguments and environment: $$ is a literal $, and a
// reference to a variable env does not hold stays as it is.
func Expand(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '(':
			if end := strings.IndexByte(s[i:], ')'); end > 0 {
				name := s[i+2 : i+end]
				if v, ok := env[name]; ok {
					b.WriteString(v)
					i += end
					continue
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Process is what the kubelet would run for a container of the manifests:
// its arguments (after the image's entrypoint, commbench) and its
// environment, with every $(VAR) expanded.
type Process struct {
	Args []string
	Env  map[string]string
}

// Command resolves the main container of the workload name (a Deployment,
// StatefulSet or Job among objs) as the kubelet would in the pod with
// index (a Job's completion index, a StatefulSet's ordinal; ignored
// otherwise): the ConfigMap and field references of its environment,
// then $(VAR) in its arguments.
func Command(objs []Object, name string, index int) (Process, error) {
	cms := map[string]*ConfigMap{}
	var spec *PodSpec
	for _, o := range objs {
		switch x := o.(type) {
		case *ConfigMap:
			cms[x.Name] = x
		case *Deployment:
			if x.Name == name {
				spec = &x.Spec.Template.Spec
			}
		case *StatefulSet:
			if x.Name == name {
				spec = &x.Spec.Template.Spec
			}
		case *Job:
			if x.Name == name {
				spec = &x.Spec.Template.Spec
			}
		}
	}
	if spec == nil || len(spec.Containers) == 0 {
		return Process{}, fmt.Errorf("no workload %q in the manifests", name)
	}
	c := spec.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		v, err := envValue(e, cms, name, index)
		if err != nil {
			return Process{}, fmt.Errorf("%s: env %s: %w", name, e.Name, err)
		}
		env[e.Name] = Expand(v, env)
	}
	p := Process{Env: env}
	for _, a := range c.Args {
		p.Args = append(p.Args, Expand(a, env))
	}
	return p, nil
}

func envValue(e EnvVar, cms map[string]*ConfigMap, pod string, index int) (string, error) {
	switch {
	case e.ValueFrom == nil:
		return e.Value, nil
	case e.ValueFrom.ConfigMapKeyRef != nil:
		ref := e.ValueFrom.ConfigMapKeyRef
		cm, ok := cms[ref.Name]
		if !ok {
			return "", fmt.Errorf("no ConfigMap %q", ref.Name)
		}
		v, ok := cm.Data[ref.Key]
		if !ok {
			return "", fmt.Errorf("ConfigMap %s has no key %q", ref.Name, ref.Key)
		}
		return v, nil
	case e.ValueFrom.FieldRef != nil:
		switch f := e.ValueFrom.FieldRef.FieldPath; f {
		case "metadata.annotations['" + indexAnnot + "']", "metadata.labels['" + podIndexLbl + "']":
			return strconv.Itoa(index), nil
		case "metadata.name":
			return pod + "-" + strconv.Itoa(index), nil
		default:
			return "", fmt.Errorf("field %s: not resolved here", f)
		}
	}
	return "", fmt.Errorf("a source not resolved here")
}
