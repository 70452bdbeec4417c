"""gvae: a categorical VAE you can click through.  Run: streamlit run app.py"""

import streamlit as st

st.set_page_config(page_title="gvae", page_icon="🎲", layout="wide")
st.title("gvae — a categorical VAE")
st.write("20 latent variables × 10 categories, trained with the Gumbel-Softmax trick.")
