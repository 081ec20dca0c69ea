{{- define "oci.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "oci.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "oci.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "oci.selectorLabels" -}}
app.kubernetes.io/name: {{ include "oci.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "oci.labels" -}}
{{ include "oci.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "oci.operatorAccount" -}}{{ include "oci.fullname" . }}-operator{{- end -}}
{{- define "oci.bootServerAccount" -}}{{ include "oci.fullname" . }}-bootserver{{- end -}}

{{/* [registry/]repository:tag, or [registry/]repository@digest when a digest is given (it wins). */}}
{{- define "oci.image" -}}
{{- $repo := .Values.image.repository -}}
{{- with .Values.image.registry }}{{ $repo = printf "%s/%s" . $repo }}{{ end -}}
{{- if .Values.image.digest -}}
{{ $repo }}@{{ .Values.image.digest }}
{{- else -}}
{{ $repo }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* Rules the operator needs in the namespaces it watches: its own kinds, Events, and `get` on Secrets
(a host's BMC credentials, read by name; no list, no write). Host tokens, agent credentials and
desired states are written in the system namespace only (rbac.yaml). */}}
{{- define "oci.operatorRules" -}}
- apiGroups: [oci.openstack.org]
  resources: [baremetalhosts, noderoles, openstackclusters]
  verbs: [get, list, watch, patch]
- apiGroups: [oci.openstack.org]
  resources: [baremetalhosts/status, noderoles/status, openstackclusters/status]
  verbs: [patch]
{{- /* An OpenStackCluster generates one NodeRole per host it takes (cloud/noderoles.py). */}}
- apiGroups: [oci.openstack.org]
  resources: [noderoles]
  verbs: [create, update, delete]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]  # a repeated Event is a count on the one posted
{{- end -}}

{{/* The boot server reads hosts and patches only their status; it reads no Secret outside the system
namespace (rbac.yaml). */}}
{{- define "oci.bootServerRules" -}}
- apiGroups: [oci.openstack.org]
  resources: [baremetalhosts]
  verbs: [{{ if .Values.bootServer.discover }}create, {{ end }}list, watch]
- apiGroups: [oci.openstack.org]
  resources: [baremetalhosts/status]
  verbs: [patch]
{{- end -}}
