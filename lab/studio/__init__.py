"""The browser studio (Gradio): a thin layer over the library and the experiments workflow."""
