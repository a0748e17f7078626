{{- define "kes.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kes.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kes.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kes.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kes.labels" -}}
{{ include "kes.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "kes.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kes.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The watched namespaces as a list; empty means every namespace (cluster mode). */}}
{{- define "kes.watchedNamespaces" -}}
{{- $list := list -}}
{{- range (splitList "," (toString (default "" .Values.env.WATCHED_NAMESPACES))) -}}
{{- if trim . -}}{{- $list = append $list (trim .) -}}{{- end -}}
{{- end -}}
{{- toJson $list -}}
{{- end -}}

{{- define "kes.leaderElection" -}}
{{- if kindIs "bool" .Values.leaderElection.enabled -}}
{{- .Values.leaderElection.enabled -}}
{{- else -}}
{{- gt (int .Values.replicaCount) 1 -}}
{{- end -}}
{{- end -}}

{{- define "kes.metricsPort" -}}
{{- default 3001 .Values.env.METRICS_PORT -}}
{{- end -}}
