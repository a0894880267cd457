// Who may schedule: the narrow view of the Raft role that the scheduler needs.

export interface Leadership {
  /** The term this process leads in, or undefined when it does not lead. */
  readonly term: number | undefined;
  /** Called with the new term on gaining leadership and with undefined on losing it. */
  onChange(listener: (term: number | undefined) => void): () => void;
}
