// Every gRPC contract in protos/ loads with the runtime loader and offers its services.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAutoscalerProto, loadFlowProto, loadNodeAgentProto, loadPlatformProto, loadPmProto, loadSchedulerProto, loadXdtProto } from './grpc.js';

const rows: Array<{ name: string; methods: () => string[]; want: string[] }> = [
  { name: 'autoscaler', methods: () => Object.keys(loadAutoscalerProto().sluice.autoscaler.v1.Autoscaler.service), want: ['ReportStats', 'Poke', 'WatchScale'] },
  { name: 'node agent', methods: () => Object.keys(loadNodeAgentProto().sluice.nodeagent.v1.NodeAgent.service), want: ['GetNode', 'StartInstance', 'StopInstance', 'WatchInstances', 'GetNodePm', 'GetNodeFlows'] },
  { name: 'platform', methods: () => Object.keys(loadPlatformProto().sluice.platform.v1.LocalPlatform.service), want: ['WatchFunctions', 'WatchEndpoints', 'SetScale', 'GetStatus'] },
  { name: 'scheduler', methods: () => Object.keys(loadSchedulerProto().sluice.scheduler.v1.Scheduler.service), want: ['Schedule'] },
  { name: 'pm', methods: () => Object.keys(loadPmProto().sluice.pm.v1.PmNode.service), want: ['GetPmInfo', 'Acquire', 'Release', 'Io', 'ReportUsage'] },
  { name: 'flow profile', methods: () => Object.keys(loadFlowProto().sluice.flow.v1.FlowProfile.service), want: ['ReportFlows'] },
  { name: 'xdt', methods: () => Object.keys(loadXdtProto().sluice.xdt.v1.XdtData.service), want: ['Put', 'Pull', 'Get'] },
];

for (const row of rows) {
  test(`the ${row.name} contract loads`, () => assert.deepEqual(row.methods(), row.want));
}
