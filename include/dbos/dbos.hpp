// DBOS Transact for C++: durable workflows whose steps are checkpointed in PostgreSQL or SQLite.
// Include this one header; see README.md for a quickstart.
#pragma once

#include "dbos/client.hpp"
#include "dbos/config.hpp"
#include "dbos/context.hpp"
#include "dbos/delay.hpp"
#include "dbos/errors.hpp"
#include "dbos/go.hpp"
#include "dbos/handle.hpp"
#include "dbos/logging.hpp"
#include "dbos/management.hpp"
#include "dbos/messaging.hpp"
#include "dbos/queue.hpp"
#include "dbos/schedule.hpp"
#include "dbos/serialization.hpp"
#include "dbos/step.hpp"
#include "dbos/streams.hpp"
#include "dbos/workflow.hpp"
#include "dbos/workflow_status.hpp"
