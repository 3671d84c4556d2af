"""The rules engine: one pure function decides what a campaign gives an order, or why not.

Validate, redeem, claim and best-offer all ask it, so they can never disagree.
"""
