// Thread entry for the scheduler's reduce pool: registers the TypeScript loader, then runs reduce-runner.
import { register } from 'tsx/esm/api';

register();
const { reduceInThread } = await import('./reduce-runner.ts');
export default reduceInThread;
