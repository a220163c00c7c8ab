{{/*
Chart name, truncated to 63 characters (the DNS label limit of Kubernetes names).
*/}}
{{- define "ramen-hub-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: fullnameOverride, else the release name when it already contains the chart name, else
<release>-<chart>.
*/}}
{{- define "ramen-hub-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart label value.
*/}}
{{- define "ramen-hub-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "ramen-hub-operator.labels" -}}
helm.sh/chart: {{ include "ramen-hub-operator.chart" . }}
{{ include "ramen-hub-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ramendr
{{- end }}

{{/*
Selector labels (stable across upgrades: never add a label here that can change).
*/}}
{{- define "ramen-hub-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ramen-hub-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: hub-operator
{{- end }}

{{/*
ServiceAccount name.
*/}}
{{- define "ramen-hub-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ramen-hub-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Operator image reference.
*/}}
{{- define "ramen-hub-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
Name of the operator ConfigMap. Fixed: the operator reads exactly this name in its namespace.
*/}}
{{- define "ramen-hub-operator.configMapName" -}}
ramen-hub-operator-config
{{- end }}

{{/*
Port of a Go-style bind address (":8081", "0.0.0.0:8081", "[::]:8081"). Fails on anything else.
Usage: include "ramen-hub-operator.port" (list "config.health.healthProbeBindAddress" $address)
*/}}
{{- define "ramen-hub-operator.port" -}}
{{- $key := index . 0 }}
{{- $address := index . 1 | toString }}
{{- if not (regexMatch "^(\\[[0-9A-Fa-f:.]*\\]|[0-9.]*):[0-9]+$" $address) }}
{{- fail (printf "%s: %q is not a bind address like \":8081\" or \"0.0.0.0:8081\"" $key $address) }}
{{- end }}
{{- $port := regexFind "[0-9]+$" $address | atoi }}
{{- if or (lt $port 1) (gt $port 65535) }}
{{- fail (printf "%s: port %d of %q is outside 1-65535" $key $port $address) }}
{{- end }}
{{- $port }}
{{- end }}

{{/*
Whether a bind address listens on loopback only (unreachable from the kubelet and from Services).
*/}}
{{- define "ramen-hub-operator.loopback" -}}
{{- $host := regexReplaceAll ":[0-9]+$" (toString .) "" }}
{{- if or (hasPrefix "127." $host) (eq $host "[::1]") }}true{{ end }}
{{- end }}

{{/*
Health port, from config.health.healthProbeBindAddress (the only source of truth).
*/}}
{{- define "ramen-hub-operator.healthPort" -}}
{{- $address := .Values.config.health.healthProbeBindAddress }}
{{- if include "ramen-hub-operator.loopback" $address }}
{{- fail (printf "config.health.healthProbeBindAddress %q listens on loopback only: the kubelet cannot probe it; use \":%s\"" $address (regexFind "[0-9]+$" $address)) }}
{{- end }}
{{- include "ramen-hub-operator.port" (list "config.health.healthProbeBindAddress" $address) }}
{{- end }}

{{/*
Metrics port, from config.metrics.bindAddress (the only source of truth).
*/}}
{{- define "ramen-hub-operator.metricsPort" -}}
{{- if eq (toString .Values.config.metrics.bindAddress) "0" }}0
{{- else }}
{{- include "ramen-hub-operator.port" (list "config.metrics.bindAddress" .Values.config.metrics.bindAddress) }}
{{- end }}
{{- end }}

{{/*
The RamenConfig document of the ConfigMap, rendered from .Values.config.
*/}}
{{- define "ramen-hub-operator.ramenConfig" -}}
{{- $c := .Values.config }}
{{- $dco := deepCopy $c.drClusterOperator }}
{{- if not $dco.namespaceName }}{{ $_ := set $dco "namespaceName" .Release.Namespace }}{{ end }}
{{- if not $dco.catalogSourceNamespaceName }}{{ $_ := set $dco "catalogSourceNamespaceName" .Release.Namespace }}{{ end }}
{{- $doc := dict
  "apiVersion" "ramendr.openshift.io/v1alpha1"
  "kind" "RamenConfig"
  "ramenControllerType" "dr-hub"
  "health" $c.health
  "metrics" $c.metrics
  "leaderElection" $c.leaderElection
  "maxConcurrentReconciles" $c.maxConcurrentReconciles
  "drClusterOperator" $dco
  "s3StoreProfiles" $c.s3StoreProfiles
}}
{{- $doc = mergeOverwrite (deepCopy $c.extra) $doc }}
{{- toYaml $doc }}
{{- end }}
