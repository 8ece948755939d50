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
