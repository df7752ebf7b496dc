print("relyctl")
