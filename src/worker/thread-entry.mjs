// Worker-thread entry for piscina: registers the TypeScript loader so job modules need no build step.
import { register } from 'tsx/esm/api';

register();
const { runTasks } = await import('./task-runner.ts');
export default runTasks;
