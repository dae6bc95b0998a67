"""The citizen inbox: questions citizens send by SMS, and officers' answers.

A core service (like the outbox) because three parts use it: the SMS channel
files what it receives (``actions.receive``), the kiosk shows and answers
threads, ``simpul inbox`` lists and answers from the shell. Texts are sealed
before the write and never leave the node; only the count of open threads
goes to the regional fleet view with the node's health.
"""
