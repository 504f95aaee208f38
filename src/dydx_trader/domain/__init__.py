"""The pure domain: values and rules, standard library only.

Read in the order a signal travels: :mod:`signal` (what is asked), :mod:`market`
and :mod:`account` (what the venue says), :mod:`margin` (the account in the
chain's integers), :mod:`reservation` (orders in flight at their worst case),
:mod:`sizing_policy` and :mod:`sizing` (how much), :mod:`pre_trade` (the caps),
:mod:`decide` (the whole decision, a pure function) and :mod:`decision` (its
record), :mod:`order` and :mod:`order_params` (what is sent), :mod:`broadcast`
and :mod:`venue` (what comes back), :mod:`trading_state` (whether trading is
allowed at all) and :mod:`errors` (every "no", by category). The helpers are
:mod:`numbers`, :mod:`units`, :mod:`arithmetic`, :mod:`side` and :mod:`proposal`.
"""

__all__ = (
    "account",
    "arithmetic",
    "broadcast",
    "decide",
    "decision",
    "errors",
    "margin",
    "market",
    "numbers",
    "order",
    "order_params",
    "pre_trade",
    "proposal",
    "reservation",
    "side",
    "signal",
    "sizing",
    "sizing_policy",
    "trading_state",
    "units",
    "venue",
)
