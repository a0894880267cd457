// Who may schedule: the narrow view of the Raft role that the scheduler needs.

export interface Leadership {
  /** The term this process leads in, or undefined when it does not lead. */
  readonly term: number | undefined;
  /** Called with the new term on gaining leadership and with undefined on losing it. */
  onChange(listener: (term: number | undefined) => void): () => void;
}

/** A process that always leads in one term: a lone scheduler with no peers. */
export class SoleLeadership implements Leadership {
  readonly term: number;
  constructor(term = 1) {
    this.term = term;
  }
  onChange(): () => void {
    return () => {};
  }
}
