{{/* Names and labels. */}}
{{- define "signstream.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "signstream.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "signstream.labels" -}}
app.kubernetes.io/name: {{ include "signstream.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector labels of one tier: include "signstream.selector" (list . "gateway") */}}
{{- define "signstream.selector" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "signstream.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* The headless Service every gateway resolves (dns:///, round robin over the Triton pods). */}}
{{- define "signstream.tritonService" -}}
{{- printf "%s-triton" (include "signstream.fullname" .) -}}
{{- end -}}

{{- define "signstream.tritonUrl" -}}
{{- printf "dns:///%s.%s.svc.cluster.local:%d" (include "signstream.tritonService" .) .Release.Namespace (int .Values.triton.grpcPort) -}}
{{- end -}}

{{/* Gateway processes a pod runs: gateway.processes, else the whole cores of its CPU request (>= 1). */}}
{{- define "signstream.processes" -}}
{{- if gt (int .Values.gateway.processes) 0 -}}
{{- .Values.gateway.processes | int -}}
{{- else -}}
{{- $cpu := toString .Values.gateway.resources.requests.cpu -}}
{{- if hasSuffix "m" $cpu -}}
{{- max 1 (div (trimSuffix "m" $cpu | atoi) 1000) -}}
{{- else -}}
{{- max 1 (floor (float64 $cpu) | int) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Cross-value rules a JSON schema cannot state (it cannot compare two values); refused at render. */}}
{{- define "signstream.checks" -}}
{{- $g := .Values.gateway -}}
{{- if le (float64 $g.terminationGracePeriodSeconds) (addf $g.preStopSleepSeconds $g.graceSeconds) -}}
{{- fail (printf "gateway.terminationGracePeriodSeconds (%v) must be more than gateway.preStopSleepSeconds (%v) + gateway.graceSeconds (%v): the kubelet kills a pod when its termination period ends, cutting its draining streams short; raise it or lower graceSeconds" $g.terminationGracePeriodSeconds $g.preStopSleepSeconds $g.graceSeconds) -}}
{{- end -}}
{{- if lt (float64 .Values.proxy.streamTimeoutSeconds) (float64 $g.maxStreamSeconds) -}}
{{- fail (printf "proxy.streamTimeoutSeconds (%v) must be at least gateway.maxStreamSeconds (%v): a proxy hop with a shorter timeout ends streams the gateway would let run" .Values.proxy.streamTimeoutSeconds $g.maxStreamSeconds) -}}
{{- end -}}
{{- range $tier := list "gateway" "triton" -}}
{{- $a := (index $.Values $tier).autoscaling -}}
{{- if gt (int $a.minReplicas) (int $a.maxReplicas) -}}
{{- fail (printf "%s.autoscaling.minReplicas (%v) is more than its maxReplicas (%v)" $tier $a.minReplicas $a.maxReplicas) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.triton.enabled .Values.kserve.enabled -}}
{{- fail "triton.enabled and kserve.enabled both deploy the Triton tier: set one of them to false" -}}
{{- end -}}
{{- end -}}

{{- define "signstream.awsEnv" -}}
- name: AWS_DEFAULT_REGION
  value: {{ .region | quote }}
{{- if .secret }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: AWS_ACCESS_KEY_ID
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: AWS_SECRET_ACCESS_KEY
{{- end }}
{{- end -}}
