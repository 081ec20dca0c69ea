// chart-render: `helm template` for this repository's chart, without the helm binary (which cannot be
// installed here). It follows Helm 3's engine: Go text/template with sprig's functions, Helm's own
// (toYaml, fromYaml, toJson, fromJson, include, tpl, required, lookup), the built-in objects (.Values,
// .Release, .Chart, .Capabilities, .Template, .Files), partials (_*.tpl) shared by every template,
// missingkey=zero with "<no value>" removed, and "# Source:" headers. Values: the chart's values.yaml
// deep-merged with each -f file in order, as Helm does. Schema validation is done by the caller.
//
// Built from Debian's golang-go and golang-github-masterminds-sprig-dev / golang-github-ghodss-yaml-dev
// (GOPATH mode), see hack/ensure-chart-render.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"github.com/ghodss/yaml"
)

type valueFiles []string

func (v *valueFiles) String() string     { return strings.Join(*v, ",") }
func (v *valueFiles) Set(s string) error { *v = append(*v, s); return nil }

func readYAML(path string) (map[string]interface{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// merge overlays src onto dst like Helm's coalescing: maps merge key by key, anything else replaces;
// a null in src deletes the key.
func merge(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		if sm, ok := v.(map[string]interface{}); ok {
			if dm, ok := dst[k].(map[string]interface{}); ok {
				dst[k] = merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}

func toYAML(v interface{}) string {
	data, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

func main() {
	var files valueFiles
	name := flag.String("name", "oci-operator", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	kube := flag.String("kube-version", "v1.20.2", "Capabilities.KubeVersion")
	flag.Var(&files, "f", "values file (repeatable)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: chart-render [-name N] [-namespace NS] [-f values.yaml]... CHART_DIR")
		os.Exit(2)
	}
	chartDir := flag.Arg(0)
	if err := render(chartDir, *name, *namespace, *kube, files); err != nil {
		fmt.Fprintln(os.Stderr, "chart-render:", err)
		os.Exit(1)
	}
}

func render(chartDir, name, namespace, kube string, files []string) error {
	chartMeta, err := readYAML(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	values, err := readYAML(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	for _, f := range files {
		override, err := readYAML(f)
		if err != nil {
			return err
		}
		values = merge(values, override)
	}
	chart := map[string]interface{}{}
	for k, v := range chartMeta { // Helm exposes Chart.yaml fields capitalised: .Chart.Name, .Chart.AppVersion
		chart[strings.ToUpper(k[:1])+k[1:]] = v
	}
	major, minor := "1", "20"
	if parts := strings.Split(strings.TrimPrefix(kube, "v"), "."); len(parts) >= 2 {
		major, minor = parts[0], parts[1]
	}
	top := map[string]interface{}{
		"Values":  values,
		"Chart":   chart,
		"Release": map[string]interface{}{"Name": name, "Namespace": namespace, "Service": "Helm", "IsInstall": true, "IsUpgrade": false, "Revision": 1},
		"Capabilities": map[string]interface{}{
			"KubeVersion": map[string]interface{}{"Version": kube, "GitVersion": kube, "Major": major, "Minor": minor},
			"APIVersions": apiVersions{},
		},
		"Files": files_{dir: chartDir},
	}

	paths, err := filepath.Glob(filepath.Join(chartDir, "templates", "*"))
	if err != nil {
		return err
	}
	sort.Strings(paths)
	root := template.New("root").Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = func(s string) map[string]interface{} {
		out := map[string]interface{}{}
		_ = yaml.Unmarshal([]byte(s), &out)
		return out
	}
	funcs["toJson"] = func(v interface{}) string { data, _ := json.Marshal(v); return string(data) }
	funcs["fromJson"] = func(s string) map[string]interface{} {
		out := map[string]interface{}{}
		_ = json.Unmarshal([]byte(s), &out)
		return out
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil || v == "" {
			return nil, fmt.Errorf("%s", msg)
		}
		return v, nil
	}
	funcs["lookup"] = func(...interface{}) map[string]interface{} { return map[string]interface{}{} } // as `helm template`
	funcs["include"] = func(string, interface{}) (string, error) { return "", nil }
	funcs["tpl"] = func(string, interface{}) (string, error) { return "", nil }
	root.Funcs(funcs)
	funcs["include"] = func(tname string, data interface{}) (string, error) {
		var buf bytes.Buffer
		err := root.ExecuteTemplate(&buf, tname, data)
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = t.Execute(&buf, data)
		return buf.String(), err
	}
	root.Funcs(funcs)

	var rendered []string
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel := filepath.Join(fmt.Sprint(chart["Name"]), "templates", filepath.Base(p))
		if _, err := root.New(rel).Parse(string(data)); err != nil {
			return err
		}
		base := filepath.Base(p)
		if !strings.HasPrefix(base, "_") && base != "NOTES.txt" {
			rendered = append(rendered, rel)
		}
	}
	for _, rel := range rendered {
		scope := map[string]interface{}{}
		for k, v := range top {
			scope[k] = v
		}
		scope["Template"] = map[string]interface{}{"Name": rel, "BasePath": filepath.Join(fmt.Sprint(chart["Name"]), "templates")}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, rel, scope); err != nil {
			return err
		}
		out := strings.ReplaceAll(buf.String(), "<no value>", "")
		if strings.TrimSpace(out) == "" {
			continue
		}
		fmt.Printf("---\n# Source: %s\n%s\n", rel, strings.TrimSpace(out))
	}
	return nil
}

type apiVersions struct{}

// Has answers like `helm template` without a cluster: only the built-in API groups of the target version.
func (apiVersions) Has(v string) bool {
	return !strings.Contains(v, "monitoring.coreos.com")
}

type files_ struct{ dir string }

func (f files_) Get(name string) string {
	data, err := os.ReadFile(filepath.Join(f.dir, name))
	if err != nil {
		return ""
	}
	return string(data)
}
