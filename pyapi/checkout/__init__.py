"""The checkout domain: the saga that books and charges a direct booking exactly once, the payment
gateway it charges through (with its breaker and retries), and the checkout of a hotel kept by an
external PMS. It knows no HTTP: routes call it and send its answers as they are.
"""
