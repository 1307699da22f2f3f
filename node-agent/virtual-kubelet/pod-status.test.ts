import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPodStatus, podPhase } from './pod-status.js';
import type { PodView } from './pod-status.js';
import type { ContainerState, ContainerStatus, Pod, PodSpec } from './types.js';

function cs(name: string, state: ContainerState, extra: Partial<ContainerStatus> = {}): ContainerStatus {
  return { name, state, lastState: {}, ready: false, restartCount: 0, image: 'img', imageID: '', ...extra };
}

const running: ContainerState = { running: { startedAt: '2026-01-01T00:00:00Z' } };
const exited = (exitCode: number): ContainerState => ({ terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error' } });
const waiting = (reason: string): ContainerState => ({ waiting: { reason } });

function pod(spec: Partial<PodSpec> = {}, status: Pod['status'] = {}): Pod {
  return { metadata: { name: 'p', namespace: 'ns', uid: 'u', generation: 1 }, spec: { containers: [{ name: 'a' }, { name: 'b' }], ...spec }, status };
}

test('podPhase: kubelet getPhase, table', () => {
  const withInit = { initContainers: [{ name: 'i' }] };
  const rows: Array<{ name: string; spec?: Partial<PodSpec>; init?: ContainerStatus[]; statuses: ContainerStatus[]; terminal?: boolean; want: string }> = [
    { name: 'nothing reported yet', statuses: [], want: 'Pending' },
    { name: 'one waiting', statuses: [cs('a', running), cs('b', waiting('ContainerCreating'))], want: 'Pending' },
    { name: 'all running', statuses: [cs('a', running), cs('b', running)], want: 'Running' },
    { name: 'one running one exited', statuses: [cs('a', running), cs('b', exited(0))], want: 'Running' },
    { name: 'crash-looping counts as stopped, Always → Running', statuses: [cs('a', running), cs('b', waiting('CrashLoopBackOff'), { lastState: exited(1) })], want: 'Running' },
    { name: 'all exited, Always → Running (restarting)', statuses: [cs('a', exited(0)), cs('b', exited(1))], want: 'Running' },
    { name: 'all exited 0, OnFailure → Succeeded', spec: { restartPolicy: 'OnFailure' }, statuses: [cs('a', exited(0)), cs('b', exited(0))], want: 'Succeeded' },
    { name: 'one failed, OnFailure → Running (restarting)', spec: { restartPolicy: 'OnFailure' }, statuses: [cs('a', exited(0)), cs('b', exited(2))], want: 'Running' },
    { name: 'one failed, Never → Failed', spec: { restartPolicy: 'Never' }, statuses: [cs('a', exited(0)), cs('b', exited(2))], want: 'Failed' },
    { name: 'terminal pod, all 0 → Succeeded (even with Always)', statuses: [cs('a', exited(0)), cs('b', exited(0))], terminal: true, want: 'Succeeded' },
    { name: 'terminal pod, a failure → Failed', statuses: [cs('a', exited(143)), cs('b', exited(0))], terminal: true, want: 'Failed' },
    { name: 'init running → Pending', spec: withInit, init: [cs('i', running)], statuses: [cs('a', waiting('PodInitializing')), cs('b', waiting('PodInitializing'))], want: 'Pending' },
    { name: 'init failed, Never → Failed', spec: { ...withInit, restartPolicy: 'Never' }, init: [cs('i', exited(1))], statuses: [cs('a', waiting('PodInitializing')), cs('b', waiting('PodInitializing'))], want: 'Failed' },
    { name: 'init failed, Always → Pending (retrying)', spec: withInit, init: [cs('i', waiting('CrashLoopBackOff'), { lastState: exited(1) })], statuses: [cs('a', waiting('PodInitializing')), cs('b', waiting('PodInitializing'))], want: 'Pending' },
    { name: 'init done, containers running', spec: withInit, init: [cs('i', exited(0), { ready: true })], statuses: [cs('a', running), cs('b', running)], want: 'Running' },
  ];
  for (const row of rows) assert.equal(podPhase(pod(row.spec), row.init ?? [], row.statuses, row.terminal ?? false), row.want, row.name);
});

function view(over: Partial<PodView>): PodView {
  return {
    pod: pod(),
    podIPs: ['10.244.1.2'],
    hostIPs: ['10.244.1.1'],
    startTime: '2026-01-01T00:00:00Z',
    sandboxReady: true,
    initContainerStatuses: [],
    containerStatuses: [cs('a', running, { ready: true }), cs('b', running, { ready: true })],
    terminal: false,
    now: '2026-01-01T00:01:00Z',
    ...over,
  };
}

function conditions(status: ReturnType<typeof buildPodStatus>): Record<string, string> {
  return Object.fromEntries((status.conditions ?? []).map((c) => [c.type, `${c.status}${c.reason ? ` ${c.reason}` : ''}${c.message ? `: ${c.message}` : ''}`]));
}

test('buildPodStatus: conditions as kubelet generates them, table', () => {
  const rows: Array<{ name: string; view: Partial<PodView>; phase: string; conditions: Record<string, string> }> = [
    {
      name: 'all ready',
      view: {},
      phase: 'Running',
      conditions: { PodReadyToStartContainers: 'True', Initialized: 'True', ContainersReady: 'True', Ready: 'True' },
    },
    {
      name: 'one unready',
      view: { containerStatuses: [cs('a', running, { ready: true }), cs('b', running)] },
      phase: 'Running',
      conditions: {
        PodReadyToStartContainers: 'True',
        Initialized: 'True',
        ContainersReady: 'False ContainersNotReady: containers with unready status: [b]',
        Ready: 'False ContainersNotReady: containers with unready status: [b]',
      },
    },
    {
      name: 'sandbox not ready yet, no status for one container',
      view: { sandboxReady: false, podIPs: [], containerStatuses: [cs('a', waiting('ContainerCreating'))] },
      phase: 'Pending',
      conditions: {
        PodReadyToStartContainers: 'False',
        Initialized: 'True',
        ContainersReady: 'False ContainersNotReady: containers with unknown status: [b], containers with unready status: [a]',
        Ready: 'False ContainersNotReady: containers with unknown status: [b], containers with unready status: [a]',
      },
    },
    {
      name: 'init container incomplete',
      view: {
        pod: pod({ initContainers: [{ name: 'i' }] }),
        initContainerStatuses: [cs('i', running)],
        containerStatuses: [cs('a', waiting('PodInitializing')), cs('b', waiting('PodInitializing'))],
      },
      phase: 'Pending',
      conditions: {
        PodReadyToStartContainers: 'True',
        Initialized: 'False ContainersNotInitialized: containers with incomplete status: [i]',
        ContainersReady: 'False ContainersNotReady: containers with unready status: [a b]',
        Ready: 'False ContainersNotReady: containers with unready status: [a b]',
      },
    },
    {
      name: 'readiness gate not satisfied',
      view: { pod: pod({ readinessGates: [{ conditionType: 'example.com/gate' }] }) },
      phase: 'Running',
      conditions: {
        PodReadyToStartContainers: 'True',
        Initialized: 'True',
        ContainersReady: 'True',
        Ready: 'False ReadinessGatesNotReady: corresponding condition of pod readiness gate "example.com/gate" does not exist.',
      },
    },
    {
      name: 'readiness gate satisfied',
      view: { pod: pod({ readinessGates: [{ conditionType: 'example.com/gate' }] }, { conditions: [{ type: 'example.com/gate', status: 'True' }] }) },
      phase: 'Running',
      conditions: { PodReadyToStartContainers: 'True', Initialized: 'True', ContainersReady: 'True', Ready: 'True' },
    },
    {
      name: 'deleted pod, containers exited 0',
      view: { terminal: true, containerStatuses: [cs('a', exited(0)), cs('b', exited(0))] },
      phase: 'Succeeded',
      conditions: { PodReadyToStartContainers: 'False', Initialized: 'True PodCompleted', ContainersReady: 'False PodCompleted', Ready: 'False PodCompleted' },
    },
    {
      name: 'deleted pod whose containers never ran (kubelet TerminatePod: Failed)',
      view: { terminal: true, containerStatuses: [cs('a', waiting('ErrImagePull')), cs('b', waiting('ErrImagePull'))] },
      phase: 'Failed',
      conditions: { PodReadyToStartContainers: 'False', Initialized: 'True', ContainersReady: 'False PodFailed', Ready: 'False PodFailed' },
    },
  ];
  for (const row of rows) {
    const status = buildPodStatus(view(row.view));
    assert.equal(status.phase, row.phase, row.name);
    assert.deepEqual(conditions(status), row.conditions, row.name);
  }
});

test('buildPodStatus: addresses, times, container statuses; transition times kept while unchanged', () => {
  const first = buildPodStatus(view({}));
  assert.equal(first.podIP, '10.244.1.2');
  assert.deepEqual(first.podIPs, [{ ip: '10.244.1.2' }]);
  assert.equal(first.hostIP, '10.244.1.1');
  assert.deepEqual(first.hostIPs, [{ ip: '10.244.1.1' }]);
  assert.equal(first.startTime, '2026-01-01T00:00:00Z');
  assert.equal(first.observedGeneration, 1);
  assert.equal(first.reason, null);
  assert.equal(first.containerStatuses?.length, 2);
  assert.equal(first.initContainerStatuses, undefined);
  assert.ok(first.conditions?.every((c) => c.lastTransitionTime === '2026-01-01T00:01:00Z' && c.lastProbeTime === null));

  const later = buildPodStatus(
    view({
      pod: pod({}, { conditions: first.conditions }),
      now: '2026-01-01T00:05:00Z',
      containerStatuses: [cs('a', running, { ready: true }), cs('b', running)],
    }),
  );
  const times = Object.fromEntries((later.conditions ?? []).map((c) => [c.type, c.lastTransitionTime]));
  assert.deepEqual(times, {
    PodReadyToStartContainers: '2026-01-01T00:01:00Z',
    Initialized: '2026-01-01T00:01:00Z',
    ContainersReady: '2026-01-01T00:05:00Z',
    Ready: '2026-01-01T00:05:00Z',
  });
});

test('buildPodStatus: a refused pod is Failed with its reason and message', () => {
  const status = buildPodStatus(view({ rejected: { reason: 'UnsupportedPodSpec', message: 'volume "x" is not supported' }, podIPs: [], sandboxReady: false }));
  assert.equal(status.phase, 'Failed');
  assert.equal(status.reason, 'UnsupportedPodSpec');
  assert.equal(status.message, 'volume "x" is not supported');
  assert.equal(status.podIP, undefined);
  assert.equal(status.conditions, undefined);
});
