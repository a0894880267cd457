// Thread entry for the scheduler's reduce pool when reduce-runner could not be prebuilt (thread-code.ts): runs it through the TypeScript loader.
import { register } from 'tsx/esm/api';

register();
const { reduceInThread } = await import('./reduce-runner.ts');
const { typeScriptLoaderRegistered } = await import('../registry/thread-modules.ts');
typeScriptLoaderRegistered();
export default reduceInThread;
