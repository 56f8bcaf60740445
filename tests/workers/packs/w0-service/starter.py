def answer():
    raise NotImplementedError


Q1 = """your answer"""
