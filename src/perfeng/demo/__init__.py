"""The embedded demo service: textbook performance behaviours to practise on.

``perfeng demo serve`` runs it alone; ``perfeng demo`` load-tests a target on 127.0.0.1.
"""
