//! Table-driven tests of the engine, from hand-built policies and facts.
