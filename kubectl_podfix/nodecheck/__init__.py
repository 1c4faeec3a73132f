"""nodecheck"""
