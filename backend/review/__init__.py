"""Review of work entries: the state machine that decides who may submit, approve, return or change an entry."""
