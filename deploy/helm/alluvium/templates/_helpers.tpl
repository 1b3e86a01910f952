{{/* The prefix of every object's name. */}}
{{- define "alluvium.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "alluvium.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object; selectorLabels (with a component) select pods. */}}
{{- define "alluvium.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "alluvium.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "alluvium.selectorLabels" -}}
app.kubernetes.io/name: {{ include "alluvium.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The image of a component: .tag (its own override) or image.tag or appVersion. */}}
{{- define "alluvium.image" -}}
{{ .root.Values.image.repository }}:{{ default (default .root.Chart.AppVersion .root.Values.image.tag) .tag }}
{{- end -}}

{{/* Names of the coordinators' StatefulSet and headless Service. */}}
{{- define "alluvium.coordinator" -}}{{ include "alluvium.fullname" . }}-coordinator{{- end -}}
{{- define "alluvium.coordinatorHeadless" -}}{{ include "alluvium.fullname" . }}-coordinator-headless{{- end -}}
{{- define "alluvium.worker" -}}{{ include "alluvium.fullname" . }}-worker{{- end -}}
{{- define "alluvium.workerHeadless" -}}{{ include "alluvium.fullname" . }}-worker-headless{{- end -}}

{{/* The DNS domain of the pods behind a headless Service (given as .svc). */}}
{{- define "alluvium.podDomain" -}}
{{ .svc }}.{{ .root.Release.Namespace }}.svc.{{ .root.Values.clusterDomain }}
{{- end -}}

{{- define "alluvium.scheme" -}}{{ if .Values.tls.enabled }}https{{ else }}http{{ end }}{{- end -}}

{{/* --bootstrap: every coordinator replica as id=dns:raftPort. */}}
{{- define "alluvium.bootstrap" -}}
{{- $sts := include "alluvium.coordinator" . -}}
{{- $domain := include "alluvium.podDomain" (dict "root" . "svc" (include "alluvium.coordinatorHeadless" .)) -}}
{{- $peers := list -}}
{{- range $i := until (int .Values.coordinator.replicas) -}}
{{- $peers = append $peers (printf "%s-%d=%s-%d.%s:%d" $sts $i $sts $i $domain (int $.Values.coordinator.raftPort)) -}}
{{- end -}}
{{- join "," $peers -}}
{{- end -}}

{{/* The URL of every coordinator replica, comma-separated, for workers and FUSE. */}}
{{- define "alluvium.coordinatorURLs" -}}
{{- $sts := include "alluvium.coordinator" . -}}
{{- $domain := include "alluvium.podDomain" (dict "root" . "svc" (include "alluvium.coordinatorHeadless" .)) -}}
{{- $scheme := include "alluvium.scheme" . -}}
{{- $urls := list -}}
{{- range $i := until (int .Values.coordinator.replicas) -}}
{{- $urls = append $urls (printf "%s://%s-%d.%s:%d" $scheme $sts $i $domain (int $.Values.coordinator.httpPort)) -}}
{{- end -}}
{{- join "," $urls -}}
{{- end -}}

{{- define "alluvium.quorum" -}}{{ add (div (int .Values.coordinator.replicas) 2) 1 }}{{- end -}}

{{/* Secrets: the existing one or the one the chart creates. */}}
{{- define "alluvium.authSecret" -}}{{ default (printf "%s-auth" (include "alluvium.fullname" .)) .Values.auth.existingSecret }}{{- end -}}
{{- define "alluvium.tlsSecret" -}}{{ default (printf "%s-tls" (include "alluvium.fullname" .)) .Values.tls.existingSecret }}{{- end -}}
{{/* The TLS Secret of workers and FUSE: their own, or the cluster's. */}}
{{- define "alluvium.workerTLSSecret" -}}{{ default (include "alluvium.tlsSecret" .) .Values.tls.workerExistingSecret }}{{- end -}}
{{- define "alluvium.s3Secret" -}}{{ default (printf "%s-s3" (include "alluvium.fullname" .)) .Values.s3.existingSecret }}{{- end -}}
{{- define "alluvium.s3HasCredentials" -}}{{ if or .Values.s3.existingSecret .Values.s3.credentials }}true{{ end }}{{- end -}}

{{/*
--cache-size from the worker's volume: a Kubernetes quantity (50Gi, 500G,
1Ti, or bytes) times usePercent, in MiB.
*/}}
{{- define "alluvium.cacheSize" -}}
{{- $q := toString .Values.worker.cache.size -}}
{{- if kindIs "float64" .Values.worker.cache.size -}}
{{- $q = printf "%d" (int64 .Values.worker.cache.size) -}}
{{- end -}}
{{- $num := regexFind "^[0-9]+" $q -}}
{{- $unit := trimPrefix $num $q -}}
{{- $mult := dict "" 1 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 -}}
{{- if or (not $num) (not (hasKey $mult $unit)) -}}
{{- fail (printf "worker.cache.size %q: want a whole number with Ki, Mi, Gi, Ti, k, M, G or T (or bytes), e.g. 50Gi" $q) -}}
{{- end -}}
{{- $pct := int .Values.worker.cache.usePercent -}}
{{- if or (lt $pct 1) (gt $pct 100) -}}
{{- fail (printf "worker.cache.usePercent %d: want 1 to 100" $pct) -}}
{{- end -}}
{{- $mib := div (mul (int64 (atoi $num)) (int64 (get $mult $unit)) $pct) (mul 100 1048576) -}}
{{- if lt (int64 $mib) 1 -}}
{{- fail (printf "worker.cache.size %q leaves less than 1MiB of cache" $q) -}}
{{- end -}}
{{- $mib }}MiB
{{- end -}}

{{/* Environment shared by the alluvium containers: pod identity, token, TLS. */}}
{{- define "alluvium.podEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
{{- end -}}

{{- define "alluvium.authEnv" -}}
{{- if .Values.auth.enabled -}}
- name: ALLUVIUM_AUTH_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "alluvium.authSecret" . }}
      key: {{ .Values.auth.tokenKey }}
{{- end }}
{{- end -}}

{{/* TLS env: server (cert, key, CA) or client (.client: CA only). */}}
{{- define "alluvium.tlsEnv" -}}
{{- if .root.Values.tls.enabled -}}
- name: ALLUVIUM_TLS_CA
  value: /etc/alluvium/tls/ca.crt
{{- if not .client }}
- name: ALLUVIUM_TLS_CERT
  value: /etc/alluvium/tls/tls.crt
- name: ALLUVIUM_TLS_KEY
  value: /etc/alluvium/tls/tls.key
{{- end }}
{{- end }}
{{- end -}}

{{- define "alluvium.tlsVolumeMount" -}}
{{- if .Values.tls.enabled -}}
- name: tls
  mountPath: /etc/alluvium/tls
  readOnly: true
{{- end }}
{{- end -}}

{{/* The TLS volume: the cluster's Secret, or with .worker the workers'. */}}
{{- define "alluvium.tlsVolume" -}}
{{- if .root.Values.tls.enabled -}}
- name: tls
  secret:
    secretName: {{ if .worker }}{{ include "alluvium.workerTLSSecret" .root }}{{ else }}{{ include "alluvium.tlsSecret" .root }}{{ end }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{/* Prometheus scrape annotations for a pod serving /metrics on .port. */}}
{{- define "alluvium.scrapeAnnotations" -}}
{{- if .root.Values.metrics.podAnnotations -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- if .root.Values.tls.enabled }}
prometheus.io/scheme: https
{{- end }}
{{- end }}
{{- end -}}
