{{/*
Shared template helpers. Most take a dict: root (the top context $), component (activator,
autoscaler, scheduler, operator, node-agent) and values (that component's values).
*/}}

{{/* chart label value: name-version */}}
{{- define "sluice.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Name of every object of a component: sluice-<component>. Fixed, not release-derived: the Service
names make the env variables the components find each other by (SLUICE_AUTOSCALER_SERVICE_HOST, …).
*/}}
{{- define "sluice.name" -}}
{{- printf "sluice-%s" . -}}
{{- end -}}

{{/* Labels a component's pods are selected by (never change on upgrade: selectors are immutable). */}}
{{- define "sluice.selectorLabels" -}}
app.kubernetes.io/name: sluice
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "sluice.labels" -}}
{{ include "sluice.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: sluice
helm.sh/chart: {{ include "sluice.chart" .root }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* [registry/]repository:tag of an image; dict root, image (repository, tag). */}}
{{- define "sluice.image" -}}
{{- $tag := .image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- $registry := .root.Values.image.registry | default "" | trimSuffix "/" -}}
{{- if $registry -}}
{{- printf "%s/%s:%s" $registry .image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
A setting's value as the string the component parses. Helm reads numbers in values files as
float64, which would print 1000000 as 1e+06: whole numbers are printed as integers.
*/}}
{{- define "sluice.settingValue" -}}
{{- if kindIs "float64" . -}}
{{- if eq (float64 (int64 .)) . -}}{{ int64 . }}{{- else -}}{{ . }}{{- end -}}
{{- else if kindIs "invalid" . -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/* SLUICE_<PREFIX>_<KEY> for a kebab-case key; dict prefix, key. Fails on a key that is not kebab-case. */}}
{{- define "sluice.settingName" -}}
{{- if not (regexMatch "^[a-z0-9]+(-[a-z0-9]+)*$" (toString .key)) -}}
{{- fail (printf "setting %q of SLUICE_%s_*: keys are kebab-case, e.g. queue-depth" (toString .key) .prefix) -}}
{{- end -}}
{{- printf "SLUICE_%s_%s" .prefix (.key | upper | replace "-" "_") -}}
{{- end -}}

{{/* env entries SLUICE_<PREFIX>_<KEY> for a map of settings, sorted by key; dict prefix, settings. */}}
{{- define "sluice.settingsEnv" -}}
{{- $prefix := .prefix -}}
{{- $settings := .settings -}}
{{- $env := list -}}
{{- range $key := keys $settings | sortAlpha -}}
{{- $name := include "sluice.settingName" (dict "prefix" $prefix "key" $key) -}}
{{- $env = append $env (dict "name" $name "value" (include "sluice.settingValue" (index $settings $key))) -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{/*
The downward-API env every container starts with; POD_IP comes first so that later values can
reference it as $(POD_IP) (the kubelet expands only variables defined earlier, plus Service ones).
*/}}
{{- define "sluice.podEnv" -}}
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- end -}}

{{/* host:port of the autoscaler's gRPC Service, from the Service env variables of sluice-autoscaler. */}}
{{- define "sluice.autoscalerAddress" -}}
$(SLUICE_AUTOSCALER_SERVICE_HOST):$(SLUICE_AUTOSCALER_SERVICE_PORT_GRPC)
{{- end -}}

{{/* host:port a component binds: bindAddress and a port; dict root, port. */}}
{{- define "sluice.bind" -}}
{{- printf "%s:%s" .root.Values.bindAddress (include "sluice.settingValue" .port) -}}
{{- end -}}

{{/* An HTTP GET probe; dict path, port (name), period, failures. */}}
{{- define "sluice.httpProbe" -}}
httpGet:
  path: {{ .path }}
  port: {{ .port }}
periodSeconds: {{ .period }}
timeoutSeconds: 2
failureThreshold: {{ .failures }}
{{- end -}}

{{/* Pod template metadata; dict root, component, values, annotations (extra, e.g. checksums). */}}
{{- define "sluice.podMetadata" -}}
metadata:
  labels:
    {{- include "sluice.labels" . | nindent 4 }}
    {{- with .values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- $annotations := merge (dict) (.annotations | default (dict)) (.values.podAnnotations | default (dict)) }}
  {{- with $annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/*
Pod-level fields shared by every component; dict root, component, values. No volumes: the only one
a pod gets is the service account token Kubernetes projects itself (and, with pm.enabled and xdt.shm.enabled, the node
agent's PM and XDT segment hostPaths, templates/node-agent.yaml).
*/}}
{{- define "sluice.podSpecCommon" -}}
serviceAccountName: {{ include "sluice.name" .component }}
automountServiceAccountToken: true
# The Service env variables (SLUICE_AUTOSCALER_SERVICE_HOST, …) are how the components find each
# other without cluster DNS: keep them on.
enableServiceLinks: true
terminationGracePeriodSeconds: {{ .values.terminationGracePeriodSeconds }}
securityContext:
  {{- toYaml (mergeOverwrite (deepCopy .root.Values.podSecurityContext) (deepCopy (.values.podSecurityContext | default (dict)))) | nindent 2 }}
{{- with .root.Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
The uid the node agent runs as (its container's runAsUser, else its pod's, else the images' USER 65532): the owner of
the node's XDT segment directory (mode 0700), which the operator therefore gives the queue-proxy sidecars too
(xdt-shm-uid). Takes the root context.
*/}}
{{- define "sluice.nodeAgentUid" -}}
{{- $values := .Values.nodeAgent -}}
{{- $pod := mergeOverwrite (deepCopy .Values.podSecurityContext) (deepCopy ($values.podSecurityContext | default (dict))) -}}
{{- $container := mergeOverwrite (deepCopy .Values.containerSecurityContext) (deepCopy ($values.containerSecurityContext | default (dict))) -}}
{{- include "sluice.settingValue" ($container.runAsUser | default $pod.runAsUser | default 65532) -}}
{{- end -}}

{{/*
Fails the render when the XDT segment directory (mounted into queue-proxies only) and the PM directory (mounted into
every user container) overlap: user code would see the segments. Takes the root context.
*/}}
{{- define "sluice.checkHostPaths" -}}
{{- if and .Values.pm.enabled .Values.xdt.shm.enabled -}}
{{- $pm := printf "%s/" (.Values.pm.hostPath | trimSuffix "/") -}}
{{- $shm := printf "%s/" (.Values.xdt.shm.hostPath | trimSuffix "/") -}}
{{- if or (hasPrefix $pm $shm) (hasPrefix $shm $pm) -}}
{{- fail (printf "xdt.shm.hostPath (%s) and pm.hostPath (%s) overlap: every user container mounts pm.hostPath, so XDT segments there would be readable by user code; keep them apart" .Values.xdt.shm.hostPath .Values.pm.hostPath) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The security context of the node agent's directory init containers (pm-dir, xdt-shm-dir): root, because kubelet
creates a hostPath root-owned, with every capability dropped (it can only chmod what root owns), no escalation.
*/}}
{{- define "sluice.rootInitSecurityContext" -}}
runAsUser: 0
runAsGroup: 0
runAsNonRoot: false
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Container fields shared by every component; dict root, component, values. */}}
{{- define "sluice.containerCommon" -}}
name: {{ .component }}
image: {{ include "sluice.image" (dict "root" .root "image" .values.image) }}
imagePullPolicy: {{ .root.Values.image.pullPolicy }}
securityContext:
  {{- toYaml (mergeOverwrite (deepCopy .root.Values.containerSecurityContext) (deepCopy (.values.containerSecurityContext | default (dict)))) | nindent 2 }}
resources:
  {{- toYaml .values.resources | nindent 2 }}
{{- end -}}
