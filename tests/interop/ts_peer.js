// The DBOS Transact TypeScript side of the interoperation test (tests/interop/interop_test.cpp):
// one command per run, against the system database at URL, printing one JSON line on stdout.
// It uses the real @dbos-inc/dbos-sdk package from npm (scripts/install_ts_peer.sh installs it).
//
//   node ts_peer.js migrate URL                   let DBOS create its system database (schema 123)
//   node ts_peer.js send URL WORKFLOW_ID          send {from, n} twice on topic "interop": with the
//                                                 client's default serialization, then portable
//   node ts_peer.js inspect URL WORKFLOW_ID       status, result (or error) and steps, as read here
//   node ts_peer.js enqueue URL ID APP NAME VER ARG FORMAT
//                                                 enqueue workflow NAME(ARG) on the internal queue
//                                                 as application APP (version VER), its input in
//                                                 FORMAT: "default" (the client's) or "portable"
//   node ts_peer.js list URL                      the client's listWorkflows: ID, status, name
//   node ts_peer.js event URL WORKFLOW_ID KEY     the client's getEvent of KEY (waits up to 60 s)
//   node ts_peer.js worker URL QUEUE SECONDS ID...
//                                                 run a TypeScript executor (version ts-worker-v1)
//                                                 serving queue QUEUE with the workflows tsShout
//                                                 (one step "upper") and tsEcho (below) until the
//                                                 workflows ID... end (at most SECONDS); their
//                                                 results, or errors, by ID
'use strict';

const { DBOS, DBOSClient } = require('@dbos-inc/dbos-sdk');

const kInternalQueue = '_dbos_internal_queue';
const silent = { debug() {}, info() {}, warn() {}, error() {} };

async function withClient(url, options, fn) {
  const client = await DBOSClient.create({ systemDatabaseUrl: url, logger: silent, ...options });
  try {
    return await fn(client);
  } finally {
    await client.destroy();
  }
}

// tsShout(text): TEXT in capitals, computed in a step named "upper".
async function tsShout(text) {
  return DBOS.runStep(async () => text.toUpperCase(), { name: 'upper' });
}

// tsEcho(prefix): receives a message on topic "in", publishes PREFIX + message as event "out"
// (in the default serialization), and returns the message.
async function tsEcho(prefix) {
  const message = await DBOS.recv('in', 60);
  await DBOS.setEvent('out', `${prefix}${message}`);
  return message;
}

async function runWorker(url, queueName, seconds, workflowIDs) {
  DBOS.setConfig({
    name: 'dbos-cpp-interop',
    systemDatabaseUrl: url,
    applicationVersion: 'ts-worker-v1',
    logLevel: 'error',
  });
  DBOS.registerWorkflow(tsShout, { name: 'tsShout' });
  DBOS.registerWorkflow(tsEcho, { name: 'tsEcho' });
  await DBOS.launch();
  try {
    await DBOS.registerQueue(queueName);
    const deadline = Date.now() + seconds * 1000;
    const results = {};
    for (const workflowID of workflowIDs) {
      const left = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
      try {
        const value = await DBOS.getResult(workflowID, { timeoutSeconds: left });
        results[workflowID] = { result: value ?? null };
      } catch (e) {
        results[workflowID] = { error: { name: e.name, message: e.message } };
      }
    }
    return { results };
  } finally {
    await DBOS.shutdown();
  }
}

async function main([command, url, ...args]) {
  switch (command) {
    case 'migrate': {
      DBOS.setConfig({ name: 'dbos-cpp-interop', systemDatabaseUrl: url, logLevel: 'error' });
      await DBOS.launch();
      await DBOS.shutdown();
      return { migrated: true };
    }
    case 'send': {
      const [workflowID] = args;
      return withClient(url, {}, async (client) => {
        await client.send(workflowID, { from: 'ts-default', n: 1 }, 'interop');
        await client.send(workflowID, { from: 'ts-portable', n: 2 }, 'interop', undefined, {
          serializationType: 'portable',
        });
        return { sent: 2 };
      });
    }
    case 'inspect': {
      const [workflowID] = args;
      return withClient(url, {}, async (client) => {
        const status = await client.getWorkflow(workflowID);
        const out = { status: status?.status, name: status?.workflowName };
        try {
          out.result = await client.retrieveWorkflow(workflowID).getResult();
        } catch (e) {
          out.error = { name: e.name, message: e.message };
        }
        const steps = (await client.listWorkflowSteps(workflowID)) ?? [];
        out.steps = steps.map((s) => ({
          id: s.functionID,
          name: s.name,
          output: s.output ?? null,
          error: s.error ? s.error.message : null,
        }));
        return out;
      });
    }
    case 'enqueue': {
      const [workflowID, applicationName, workflowName, appVersion, arg, format] = args;
      const serializationType = format === 'portable' ? 'portable' : undefined;
      return withClient(url, { applicationName }, async (client) => {
        const options = { queueName: kInternalQueue, workflowName, workflowID, appVersion, serializationType };
        await client.enqueue(options, arg);
        return { enqueued: workflowID };
      });
    }
    case 'list': {
      return withClient(url, {}, async (client) => {
        const all = await client.listWorkflows({});
        return all.map((w) => ({ id: w.workflowID, status: w.status, name: w.workflowName }));
      });
    }
    case 'event': {
      const [workflowID, key] = args;
      return withClient(url, {}, async (client) => ({ value: await client.getEvent(workflowID, key, 60) }));
    }
    case 'worker': {
      const [queueName, seconds, ...workflowIDs] = args;
      return runWorker(url, queueName, Number(seconds), workflowIDs);
    }
    default:
      throw new Error(`unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).then(
  (result) => {
    process.stdout.write(JSON.stringify(result) + '\n');
    process.exit(0);
  },
  (error) => {
    process.stderr.write(`ts_peer: ${error && error.stack ? error.stack : error}\n`);
    process.exit(1);
  },
);
