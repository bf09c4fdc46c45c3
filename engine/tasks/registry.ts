/** Task kinds by `task.kind`: adding a kind is its module plus one line here. */
import type { TaskKind } from '../config/schema';
import { classification } from './classification';
import type { TaskKindModule } from './kind';
import { mlm } from './mlm';
import { regression } from './regression';
import { span } from './span';

const TASKS: Readonly<Record<TaskKind, TaskKindModule>> = {
  classification,
  regression,
  span,
  mlm,
};

export function taskKind(kind: TaskKind): TaskKindModule {
  return TASKS[kind];
}
