// Worker-thread entry for piscina when the task runner could not be prebuilt (thread-code.ts): runs it through the TypeScript loader.
import { register } from 'tsx/esm/api';

register();
const { runTasks } = await import('./task-runner.ts');
const { typeScriptLoaderRegistered } = await import('../registry/thread-modules.ts');
typeScriptLoaderRegistered();
export default runTasks;
