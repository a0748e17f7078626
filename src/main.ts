// Guards and signal handlers come first, before the application's modules load (which takes a moment): a
// SIGTERM or a defect at any point of start-up ends the process the documented way.
import { failFast, installProcessGuards } from './lifecycle/process-guards.js';
import { installShutdownSignals } from './lifecycle/shutdown-signals.js';
import { withDeferredDateTimeFormat } from './lifecycle/deferred-date-time-format.js';

installProcessGuards();
installShutdownSignals();
const { runController } = await withDeferredDateTimeFormat(() => import('./controller.js'));
runController().catch((error: unknown) => failFast('failed to start', error));
