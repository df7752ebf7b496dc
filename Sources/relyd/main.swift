print("relyd")
