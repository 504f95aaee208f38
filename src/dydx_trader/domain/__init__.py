"""The pure domain: values and rules, standard library only."""
