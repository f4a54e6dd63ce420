"""Ready-made protocols built on ``torsion.protocol`` (Twisted's ``twisted.protocols``).

``torsion.protocols.basic`` holds the framing protocols: lines, netstrings and
length-prefixed strings.
"""
